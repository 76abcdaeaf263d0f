"""Migrate, load the clients and tokens the Go test asked for, then serve.

One process does all three so the peer starts in one interpreter start-up.
DOT_SETUP (JSON) lists what to create:

  {"users": ["alice"],
   "applications": [{"name": "...", "client_id": "...", "client_secret": "...",
                     "grant": "client-credentials"}],
   "tokens": [{"token": "...", "client_id": "...", "scope": "...",
               "expires_in": 600, "username": "alice"}]}

DOT 1.7 stores client secrets as given (hashing came with DOT 2.0), so the
Go side chooses them.
"""
import json
import os
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_application_model


class Command(BaseCommand):
    help = "Set up the interop peer from DOT_SETUP and run the development server."

    def add_arguments(self, parser):
        parser.add_argument("addrport")

    def handle(self, *args, **options):
        call_command("migrate", verbosity=0, interactive=False)
        setup = json.loads(os.environ.get("DOT_SETUP") or "{}") or {}
        Application = get_application_model()
        AccessToken = get_access_token_model()
        User = get_user_model()

        for name in setup.get("users", []):
            User.objects.get_or_create(username=name)

        for app in setup.get("applications", []):
            Application.objects.update_or_create(
                client_id=app["client_id"],
                defaults={
                    "name": app.get("name", app["client_id"]),
                    "client_secret": app["client_secret"],
                    "client_type": Application.CLIENT_CONFIDENTIAL,
                    "authorization_grant_type": app.get("grant", Application.GRANT_CLIENT_CREDENTIALS),
                    "redirect_uris": "",
                },
            )

        for tok in setup.get("tokens", []):
            user = None
            if tok.get("username"):
                user, _ = User.objects.get_or_create(username=tok["username"])
            AccessToken.objects.update_or_create(
                token=tok["token"],
                defaults={
                    "application": Application.objects.get(client_id=tok["client_id"]),
                    "user": user,
                    "scope": tok["scope"],
                    "expires": timezone.now() + timedelta(seconds=tok.get("expires_in", 600)),
                },
            )

        self.stderr.write("tokengate DOT peer: setup done")
        call_command("runserver", options["addrport"], use_reloader=False, use_threading=True)
