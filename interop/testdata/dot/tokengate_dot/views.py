from django.conf import settings
from django.http import JsonResponse
from oauth2_provider.views.generic import ScopedProtectedResourceView


class Hello(ScopedProtectedResourceView):
    """A resource protected by DOT itself: in resource-server mode DOT asks
    RESOURCE_SERVER_INTROSPECTION_URL about every token it does not know.
    DOT answers 403 (no challenge) to a missing, invalid or under-scoped token.
    """

    def get_scopes(self):
        return settings.RS_REQUIRED_SCOPES

    def get(self, request, *args, **kwargs):
        token = request.access_token
        return JsonResponse(
            {
                "scope": token.scope,
                "username": token.user.get_username() if token.user else None,
                "expires": token.expires.isoformat(),
            }
        )
