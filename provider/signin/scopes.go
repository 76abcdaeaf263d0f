package signin

// builtinScopeDescriptions say in words what the standard scopes of OpenID
// Connect Core (§3.1.2.1, §5.4, §11) let an application do.
var builtinScopeDescriptions = map[string]string{
	"openid":         "Know who you are: an identifier of your account",
	"profile":        "See your name and the other details of your profile",
	"email":          "See your email address",
	"address":        "See your postal address",
	"phone":          "See your phone number",
	"offline_access": "Keep access while you are not using it",
}

// describeScopes returns each scope with its description: the one in
// custom, else the built-in one, else one that names the scope.
func describeScopes(scopes []string, custom map[string]string) []Scope {
	out := make([]Scope, 0, len(scopes))
	for _, s := range scopes {
		d := custom[s]
		if d == "" {
			d = builtinScopeDescriptions[s]
		}
		if d == "" {
			d = "Use the permission “" + s + "”"
		}
		out = append(out, Scope{Name: s, Description: d})
	}
	return out
}
