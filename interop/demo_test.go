//go:build interop

package interop

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tokengate/tokengate/interop/internal/interoptest"
)

// TestDemoInBrowser runs "go run ./cmd/tokengate demo" as the README says
// (built once, on free ports) and does what its printed steps tell a
// person: open the web app in a browser (headless Chromium), click "Sign
// in", log in as the printed demo user, allow the app, and read the orders
// API's answer to the user's own token, with the user's name from the ID
// token.
func TestDemoInBrowser(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "tokengate")
	build := exec.Command("go", "build", "-o", bin, "./cmd/tokengate")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/tokengate: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "demo", "--addr-as", "127.0.0.1:0", "--addr-api", "127.0.0.1:0", "--addr-app", "127.0.0.1:0", "--log-level", "warn")
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if t.Failed() {
			t.Logf("demo stderr:\n%s", stderr.String())
		}
	})
	var printed strings.Builder
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && sc.Text() != "Press Ctrl+C to stop." {
		printed.WriteString(sc.Text() + "\n")
	}
	go io.Copy(io.Discard, stdout) // the rest, until it exits
	steps := printed.String()
	app := regexp.MustCompile(`(?m)^Sign in as a person: open (http://127\.0\.0\.1:\d+) in a browser`).FindStringSubmatch(steps)
	user := regexp.MustCompile(`(?m)^  username: (\S+)$`).FindStringSubmatch(steps)
	pass := regexp.MustCompile(`(?m)^  password: (\S+)$`).FindStringSubmatch(steps)
	if app == nil || user == nil || pass == nil {
		t.Fatalf("the demo does not print the web app and the demo user:\n%s", steps)
	}

	ctx := interoptest.StartChromium(t)
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(app[1]),
		chromedp.Click(chromedp.CSS("#sign-in")),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), user[1]),
		chromedp.SendKeys(chromedp.CSS("#password"), pass[1]),
		chromedp.Click(chromedp.CSS(`button[value="signin"]`)),
		chromedp.WaitVisible(chromedp.CSS(`button[value="approve"]`)),
		chromedp.Click(chromedp.CSS(`button[value="approve"]`)),
		chromedp.WaitVisible(chromedp.CSS("#api-answer")),
	); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		body, _ := chromedp.Run(ctx, chromedp.Evaluate[string]("document.body.innerText"))
		t.Fatalf("signing in through the demo: %v\nat %s:\n%s", err, redact(loc), body)
	}
	name, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#name")))
	status, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#api-status")))
	answer, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#api-answer")))
	if name != "Dana Demo" || status != "200" || !strings.Contains(answer, `"username": "demo"`) || !strings.Contains(answer, "ord_1001") {
		t.Errorf("the app shows name %q, API status %q and answer:\n%s", name, status, answer)
	}
}
