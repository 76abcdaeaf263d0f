"""Settings of the Django OAuth Toolkit (DOT) 1.7 interop peer.

Everything variable comes from the environment, set by interop/internal/interoptest:

  DOT_DATA_DIR            directory for the SQLite database (required)
  DOT_SECRET_KEY          Django SECRET_KEY (random per run)

Resource-server mode (DOT validates tokens of another AS by introspection):

  DOT_RS_INTROSPECTION_URL          RESOURCE_SERVER_INTROSPECTION_URL
  DOT_RS_CLIENT_ID, DOT_RS_CLIENT_SECRET
                                    RESOURCE_SERVER_INTROSPECTION_CREDENTIALS
  DOT_RS_AUTH_TOKEN                 RESOURCE_SERVER_AUTH_TOKEN
  DOT_RS_REQUIRED_SCOPES            scopes /api/hello requires (space separated)
  DOT_RS_CACHE_SECONDS              RESOURCE_SERVER_TOKEN_CACHING_SECONDS (default 1)
"""
import os

BASE_DIR = os.path.dirname(os.path.abspath(__file__))
DATA_DIR = os.environ["DOT_DATA_DIR"]

SECRET_KEY = os.environ.get("DOT_SECRET_KEY") or "interop-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "oauth2_provider",
    "tokengate_dot",
]
MIDDLEWARE = []
ROOT_URLCONF = "tokengate_dot.urls"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.path.join(DATA_DIR, "dot.sqlite3"),
        # runserver is threaded: wait for the write lock instead of failing.
        "OPTIONS": {"timeout": 20},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
# DOT's resource-server code mixes datetime.now() and utcfromtimestamp():
# both must be UTC (the Go helper also sets TZ=UTC).
TIME_ZONE = "UTC"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": []},
    }
]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {
        "oauth2_provider": {"handlers": ["stderr"], "level": "DEBUG"},
        "oauthlib": {"handlers": ["stderr"], "level": "WARNING"},
        "django.request": {"handlers": ["stderr"], "level": "ERROR"},
    },
}

OAUTH2_PROVIDER = {
    "SCOPES": {
        "orders:read": "Read orders",
        "orders:write": "Create orders",
        "introspection": "Introspect tokens",
    },
    # DOT's default is every scope ("__all__"), which would hand the
    # introspection scope to any client that asks for no scope at all.
    "DEFAULT_SCOPES": ["orders:read"],
    "ACCESS_TOKEN_EXPIRE_SECONDS": 600,
}

_rs_url = os.environ.get("DOT_RS_INTROSPECTION_URL")
if _rs_url:
    OAUTH2_PROVIDER["RESOURCE_SERVER_INTROSPECTION_URL"] = _rs_url
    if os.environ.get("DOT_RS_AUTH_TOKEN"):
        OAUTH2_PROVIDER["RESOURCE_SERVER_AUTH_TOKEN"] = os.environ["DOT_RS_AUTH_TOKEN"]
    else:
        OAUTH2_PROVIDER["RESOURCE_SERVER_INTROSPECTION_CREDENTIALS"] = (
            os.environ["DOT_RS_CLIENT_ID"],
            os.environ["DOT_RS_CLIENT_SECRET"],
        )
    # DOT caches an active verdict as a local AccessToken until min(exp, now +
    # this); the default (36000 s) keeps accepting a token for up to ten hours
    # after it was revoked. Zero does not mean "no cache": the cached copy
    # expires the moment it is stored and DOT refuses every token.
    OAUTH2_PROVIDER["RESOURCE_SERVER_TOKEN_CACHING_SECONDS"] = int(os.environ.get("DOT_RS_CACHE_SECONDS") or "1")

RS_REQUIRED_SCOPES = os.environ.get("DOT_RS_REQUIRED_SCOPES", "orders:read").split()
