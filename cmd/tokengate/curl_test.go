package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// This file runs the curl lines the demo prints, without curl: it
// understands exactly the subset of shell and curl the demo uses, and fails
// on anything else, so a printed line the user could not paste would fail
// the test.

// shellWords splits a command line: single quotes are literal, double quotes
// expand $NAME from vars, backslash-newline is a continuation.
func shellWords(line string, vars map[string]string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	expand := func(s string) string {
		return regexp.MustCompile(`\$\{?([A-Z_]+)\}?`).ReplaceAllStringFunc(s, func(m string) string {
			name := strings.Trim(m, "${}")
			return vars[name]
		})
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && i+1 < len(line) && line[i+1] == '\n':
			i++
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated ' in %q", line)
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			j := strings.IndexByte(line[i+1:], '"')
			if j < 0 {
				return nil, fmt.Errorf("unterminated \" in %q", line)
			}
			cur.WriteString(expand(line[i+1 : i+1+j]))
			i += j + 1
			inWord = true
		case c == '$':
			m := regexp.MustCompile(`^\$\{?[A-Z_]+\}?`).FindString(line[i:])
			if m == "" {
				return nil, fmt.Errorf("unsupported $ in %q", line)
			}
			cur.WriteString(expand(m))
			i += len(m) - 1
			inWord = true
		case strings.IndexByte("|;&<>`()", c) >= 0:
			return nil, fmt.Errorf("unsupported shell syntax %q in %q", c, line)
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// curlResult is what one interpreted curl command got.
type curlResult struct {
	status int
	header http.Header
	body   string
}

// runCurl interprets a curl command (as words) with client.
func runCurl(t testing.TB, client *http.Client, words []string) curlResult {
	t.Helper()
	if len(words) == 0 || words[0] != "curl" {
		t.Fatalf("not a curl command: %q", words)
	}
	method := ""
	var form []string
	header := http.Header{}
	var user, target string
	for i := 1; i < len(words); i++ {
		w := words[i]
		next := func() string {
			i++
			if i >= len(words) {
				t.Fatalf("curl %s needs a value", w)
			}
			return words[i]
		}
		switch w {
		case "-s", "-S", "-sS", "-i", "-si", "-sSi", "--silent", "--show-error", "--include", "--fail-with-body":
		case "-X", "--request":
			method = next()
		case "-d", "--data", "--data-urlencode":
			v := next()
			if w == "--data-urlencode" {
				if k, val, ok := strings.Cut(v, "="); ok {
					v = k + "=" + url.QueryEscape(val)
				}
			}
			form = append(form, v)
		case "-H", "--header":
			k, v, ok := strings.Cut(next(), ":")
			if !ok {
				t.Fatalf("bad header in %q", words)
			}
			header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		case "-u", "--user":
			user = next()
		default:
			if strings.HasPrefix(w, "-") {
				t.Fatalf("curl option %q is not understood by this test", w)
			}
			if target != "" {
				t.Fatalf("two URLs in %q", words)
			}
			target = w
		}
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(strings.Join(form, "&"))
		if method == "" {
			method = http.MethodPost
		}
		if header.Get("Content-Type") == "" {
			header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatalf("%q: %v", words, err)
	}
	req.Header = header
	if user != "" {
		// curl -u sends the id and secret as they are; they are safe only
		// if form-urlencoding leaves them unchanged (RFC 6749 §2.3.1).
		id, secret, _ := strings.Cut(user, ":")
		if url.QueryEscape(id) != id || url.QueryEscape(secret) != secret {
			t.Fatalf("-u %q would need form-urlencoding", user)
		}
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user)))
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%q: %v", words, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return curlResult{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func TestShellWords(t *testing.T) {
	vars := map[string]string{"TOKEN": "t0k"}
	tests := []struct {
		name, line string
		want       []string
	}{
		{name: "plain", line: "curl -s http://x/", want: []string{"curl", "-s", "http://x/"}},
		{name: "quotes", line: `curl -H "Authorization: Bearer $TOKEN" 'a b'`, want: []string{"curl", "-H", "Authorization: Bearer t0k", "a b"}},
		{name: "continuation", line: "curl \\\n  -i x", want: []string{"curl", "-i", "x"}},
		{name: "braces", line: "a${TOKEN}b", want: []string{"at0kb"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := shellWords(tt.line, vars)
			if err != nil || strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("shellWords(%q) = %q, %v; want %q", tt.line, got, err, tt.want)
			}
		})
	}
	if _, err := shellWords("curl x | jq", vars); err == nil {
		t.Error("a pipe was accepted")
	}
}
