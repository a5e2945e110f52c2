#!/usr/bin/env python3
"""The minifa command line: `python cli.py --help` (also installed as `minifa`)."""

from minifa.cli import main

if __name__ == "__main__":
    main()
