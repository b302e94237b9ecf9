#!/usr/bin/env python
from __future__ import annotations

import os
import sys
from pathlib import Path

if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    # Run from a checkout without installing: the library's src/ comes first.
    sys.path[:0] = [str(here), str(here.parent / "src")]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
