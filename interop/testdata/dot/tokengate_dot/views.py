from django.conf import settings
from django.http import JsonResponse
from oauth2_provider.models import get_access_token_model
from oauth2_provider.views.generic import ScopedProtectedResourceView


class Hello(ScopedProtectedResourceView):
    """A resource protected by DOT itself: in resource-server mode DOT asks
    RESOURCE_SERVER_INTROSPECTION_URL about every token it does not hold a
    valid copy of, and stores the answer as a local AccessToken. DOT answers
    403 (no challenge) to a missing, invalid or under-scoped token.
    """

    def get_scopes(self):
        return settings.RS_REQUIRED_SCOPES

    def get(self, request, *args, **kwargs):
        # The view only runs once DOT has validated the bearer token.
        bearer = request.headers["Authorization"].split(" ", 1)[1]
        token = get_access_token_model().objects.select_related("user").get(token=bearer)
        return JsonResponse(
            {
                "scope": token.scope,
                "username": token.user.get_username() if token.user else None,
                "expires": token.expires.isoformat(),
            }
        )
