package interoptest

import (
	"bytes"
	"context"
	"os/exec"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// StartChromium starts headless Chromium (Debian's package chromium,
// installed by scripts/setup-peers.sh) with a fresh profile of its own, and
// returns a chromedp context for one tab of it. The browser stops when t
// ends; its output is logged if t failed. It fails t if Chromium is
// missing.
//
// The flags keep the browser off the network but for the pages the test
// opens: no sandbox (the tests may run as root), no GPU, no QUIC, and no
// background networking, component updates, sync or first-run tasks,
// which a closed network would refuse.
func StartChromium(t testing.TB) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("%v: chromium is not on PATH", ErrNotInstalled)
	}
	var out lockedBuffer
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.CombinedOutput(&out),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		if t.Failed() {
			t.Logf("--- chromium output:\n%s", out.String())
		}
	})
	// The first run starts the browser; a failure here is an install problem.
	if _, err := chromedp.Run(ctx, chromedp.Location()); err != nil {
		t.Fatalf("starting chromium (%s): %v\n%s", path, err, out.String())
	}
	return ctx
}

// lockedBuffer is a bytes.Buffer the browser's output goroutine and the
// test may use at once.
type lockedBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
