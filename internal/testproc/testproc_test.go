//go:build unix

package testproc

import (
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSignalReachesTheGroup: a signal to the program also ends the child it
// forked, and the output is kept.
func TestSignalReachesTheGroup(t *testing.T) {
	p, err := Start("sh", exec.Command("sh", "-c", "echo started; sleep 300 & wait"))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.Output(), "started") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	p.Signal(syscall.SIGTERM, 5*time.Second)
	if !p.Exited() {
		t.Fatal("the program is still running")
	}
	if p.Output() != "started\n" {
		t.Fatalf("output %q", p.Output())
	}
	// The child gets the signal too, but is reaped a moment later.
	var out []byte
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if out, _ = exec.Command("pgrep", "-g", strconv.Itoa(p.cmd.Process.Pid)).Output(); len(out) == 0 {
			return
		}
	}
	t.Fatalf("the forked child survived: %s", out)
}

// TestOutputKeepsTheEnd: a long output is cut from the front.
func TestOutputKeepsTheEnd(t *testing.T) {
	p, err := Start("sh", exec.Command("sh", "-c", "head -c 200000 /dev/zero | tr '\\0' a; echo END"))
	if err != nil {
		t.Fatal(err)
	}
	<-p.Done()
	out := p.Output()
	if len(out) != outputCap || !strings.HasSuffix(out, "aEND\n") || p.ExitCode() != 0 {
		t.Fatalf("kept %d bytes ending %q, exit %d", len(out), out[len(out)-5:], p.ExitCode())
	}
}
