#!/usr/bin/env python3
"""Django entry point for the Django OAuth Toolkit interop peer.

Run with Debian's interpreter (/usr/bin/python3), where the
python3-django-oauth-toolkit package is installed; interop/internal/interoptest
starts it as `manage.py tokengate_serve 127.0.0.1:PORT`.
"""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tokengate_dot.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
