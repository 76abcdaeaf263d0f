package secevent_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/secevent"
)

func TestAudience(t *testing.T) {
	for _, tt := range []struct {
		wire string
		want secevent.Audience
		ok   bool
	}{
		{`"orders-api"`, secevent.Audience{"orders-api"}, true},
		{`["billing-api","orders-api"]`, secevent.Audience{"billing-api", "orders-api"}, true},
		{`42`, nil, false},
		{`[1]`, nil, false},
	} {
		var a secevent.Audience
		err := json.Unmarshal([]byte(tt.wire), &a)
		if (err == nil) != tt.ok || !slices.Equal(a, tt.want) {
			t.Errorf("%s: %q, %v", tt.wire, a, err)
			continue
		}
		if tt.ok {
			if out, _ := json.Marshal(a); string(out) != tt.wire {
				t.Errorf("%s encodes as %s", tt.wire, out)
			}
		}
	}
}

// TestNames pins what both sides compute from the same inputs.
func TestNames(t *testing.T) {
	if got := secevent.TokenHash("abc"); got != "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0" {
		t.Errorf("TokenHash(abc) = %s", got)
	}
	ch := secevent.Channel("https://as.example.com", "orders-api")
	if !strings.HasPrefix(ch, "tokengate:secevents:v1:") || len(ch) != len("tokengate:secevents:v1:")+32 || ch == secevent.Channel("https://as.example.com", "billing-api") {
		t.Errorf("Channel = %s", ch)
	}
	if k := secevent.RelayClaimKey(ch, "set-a"); !strings.HasPrefix(k, ch+":relayed:") || strings.Contains(k, "set-a") {
		t.Errorf("RelayClaimKey = %s", k)
	}
}
