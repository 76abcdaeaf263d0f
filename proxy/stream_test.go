package proxy_test

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/proxy"
)

// wait receives from c, or fails the test after 10 seconds.
func wait[T any](t *testing.T, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("waited 10s for %s", what)
		panic("unreachable")
	}
}

func TestStreamingResponse(t *testing.T) {
	next := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := range 3 {
			fmt.Fprintf(w, "chunk %d\n", i)
			http.NewResponseController(w).Flush()
			select {
			case <-next:
			case <-r.Context().Done():
				return
			}
		}
	}))
	defer up.Close()
	srv := startProxy(t, up.URL, nil)
	res := send(t, "GET", srv.URL+"/api/orders", "tok-reader", nil)
	defer res.Body.Close()
	if res.StatusCode != 200 || res.ContentLength != -1 {
		t.Fatalf("status %d, length %d", res.StatusCode, res.ContentLength)
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for i := range 3 {
		// The upstream sends chunk i+1 only after this one arrived.
		if got := wait(t, lines, fmt.Sprintf("chunk %d (does the proxy buffer?)", i)); got != fmt.Sprintf("chunk %d", i) {
			t.Fatalf("got %q", got)
		}
		next <- struct{}{}
	}
}

func TestStreamingRequestBody(t *testing.T) {
	got := make(chan string)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sc := bufio.NewScanner(r.Body)
		for sc.Scan() {
			got <- sc.Text()
		}
		close(got)
	}))
	defer up.Close()
	srv := startProxy(t, up.URL, nil)
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", srv.URL+"/api/orders", pr)
	req.Header.Set("Authorization", "Bearer tok-writer")
	done := make(chan error, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode != 200 {
				err = fmt.Errorf("status %d", res.StatusCode)
			}
		}
		done <- err
	}()
	for i := range 3 {
		fmt.Fprintf(pw, "part %d\n", i)
		// The client sends part i+1 only after the upstream read this one.
		if line := wait(t, got, fmt.Sprintf("part %d at the upstream (does the proxy buffer?)", i)); line != fmt.Sprintf("part %d", i) {
			t.Fatalf("upstream read %q", line)
		}
	}
	pw.Close()
	if err := wait(t, done, "response"); err != nil {
		t.Fatal(err)
	}
}

// wsUpstream is a WebSocket server written on net/http's Hijacker: it
// completes the RFC 6455 handshake, sends the identity it was given as its
// first message, then echoes each message back.
func wsUpstream(t testing.TB) (*httptest.Server, <-chan struct{}) {
	t.Helper()
	upgraded := make(chan struct{}, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "want a WebSocket", http.StatusBadRequest)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		upgraded <- struct{}{}
		fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", wsAccept(r.Header.Get("Sec-WebSocket-Key")))
		writeFrame(brw, []byte("subject="+r.Header.Get(proxy.HeaderSubject)), false)
		brw.Flush()
		for {
			msg, err := readFrame(brw.Reader)
			if err != nil {
				return
			}
			writeFrame(brw, msg, false)
			brw.Flush()
		}
	}))
	t.Cleanup(srv.Close)
	return srv, upgraded
}

func wsAccept(key string) string {
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// writeFrame writes one final text frame; a client masks it (RFC 6455 §5.3).
func writeFrame(w io.Writer, payload []byte, mask bool) error {
	hdr := []byte{0x81, 0}
	switch n := len(payload); {
	case n < 126:
		hdr[1] = byte(n)
	default:
		hdr[1] = 126
		hdr = binary.BigEndian.AppendUint16(hdr, uint16(n))
	}
	body := payload
	if mask {
		hdr[1] |= 0x80
		key := make([]byte, 4)
		rand.Read(key)
		hdr = append(hdr, key...)
		body = make([]byte, len(payload))
		for i, b := range payload {
			body[i] = b ^ key[i%4]
		}
	}
	_, err := w.Write(append(hdr, body...))
	return err
}

// readFrame reads one frame of up to 64 KiB and returns its unmasked payload.
func readFrame(r *bufio.Reader) ([]byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int(hdr[1] & 0x7f)
	switch n {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(r, ext[:]); err != nil {
			return nil, err
		}
		n = int(binary.BigEndian.Uint16(ext[:]))
	case 127:
		return nil, errors.New("frame too large for this test")
	}
	var key [4]byte
	masked := hdr[1]&0x80 != 0
	if masked {
		if _, err := io.ReadFull(r, key[:]); err != nil {
			return nil, err
		}
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return nil, err
	}
	if masked {
		for i := range payload {
			payload[i] ^= key[i%4]
		}
	}
	return payload, nil
}

// dialWebSocket sends a WebSocket upgrade request to the server at base and
// returns the response and, for a 101, the connection's reader and writer.
func dialWebSocket(t *testing.T, base, path, token string) (*http.Response, *bufio.Reader, net.Conn) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	key := base64.StdEncoding.EncodeToString([]byte(rand.Text()[:16]))
	raw := "GET " + path + " HTTP/1.1\r\nHost: api.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key + "\r\n"
	if token != "" {
		raw += "Authorization: Bearer " + token + "\r\n"
	}
	if _, err := io.WriteString(conn, raw+"\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, &http.Request{Method: "GET"})
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode == http.StatusSwitchingProtocols && res.Header.Get("Sec-WebSocket-Accept") != wsAccept(key) {
		t.Fatalf("Sec-WebSocket-Accept %q, want %q", res.Header.Get("Sec-WebSocket-Accept"), wsAccept(key))
	}
	return res, br, conn
}

// echo sends msg and checks that it comes back.
func echo(t *testing.T, br *bufio.Reader, conn net.Conn, msg string) {
	t.Helper()
	if err := writeFrame(conn, []byte(msg), true); err != nil {
		t.Fatal(err)
	}
	got, err := readFrame(br)
	if err != nil || string(got) != msg {
		t.Fatalf("echo of %q: %q, %v", msg, got, err)
	}
}

func TestWebSocket(t *testing.T) {
	up, upgraded := wsUpstream(t)
	srv := startProxy(t, up.URL, func(c *proxy.Config) { c.Routes = routes(t, "GET /ws orders:read") })

	t.Run("authorised", func(t *testing.T) {
		res, br, conn := dialWebSocket(t, srv.URL, "/ws", "tok-reader")
		if res.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("status %d", res.StatusCode)
		}
		if first, err := readFrame(br); err != nil || string(first) != "subject=alice" {
			t.Fatalf("first message %q, %v: the upstream did not get the identity", first, err)
		}
		echo(t, br, conn, "hello")
		echo(t, br, conn, strings.Repeat("a long message ", 100))
	})
	<-upgraded
	for _, tt := range []struct {
		name, token string
		status      int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"inactive token", "tok-unknown", http.StatusUnauthorized},
		{"missing scope", "tok-noscope", http.StatusForbidden},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, _, _ := dialWebSocket(t, srv.URL, "/ws", tt.token)
			if res.StatusCode != tt.status {
				t.Errorf("status %d, want %d", res.StatusCode, tt.status)
			}
		})
	}
	select {
	case <-upgraded:
		t.Error("the upstream upgraded a refused request")
	default:
	}
}

// TestForwardedRequestsOutliveServerTimeouts serves the proxy with short
// whole-request timeouts, as internal/httpserver sets longer ones: a
// response streamed for longer, and a WebSocket held open for longer, must
// go on, since forwarding replaces those bounds with idle timeouts.
func TestForwardedRequestsOutliveServerTimeouts(t *testing.T) {
	const serverTimeout = 300 * time.Millisecond
	stream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := range 6 {
			fmt.Fprintf(w, "chunk %d\n", i)
			http.NewResponseController(w).Flush()
			time.Sleep(serverTimeout / 3)
		}
	}))
	defer stream.Close()
	ws, _ := wsUpstream(t)
	for _, tt := range []struct {
		name     string
		upstream string
		run      func(t *testing.T, base string)
	}{
		{"stream", stream.URL, func(t *testing.T, base string) {
			res, body := do(t, "GET", base+"/api/orders", "tok-reader", nil)
			if res.StatusCode != 200 || strings.Count(body, "chunk") != 6 {
				t.Errorf("status %d, body %q: the stream was cut", res.StatusCode, body)
			}
		}},
		{"websocket", ws.URL, func(t *testing.T, base string) {
			res, br, conn := dialWebSocket(t, base, "/api/orders", "tok-reader")
			if res.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("status %d", res.StatusCode)
			}
			readFrame(br)
			for i := range 4 {
				echo(t, br, conn, fmt.Sprint("message ", i))
				time.Sleep(serverTimeout / 2)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u, _ := url.Parse(tt.upstream)
			p, err := proxy.New(proxy.Config{Guard: newGuard(t), Routes: routes(t, "GET /api/orders orders:read"), Upstream: u, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewUnstartedServer(p)
			srv.Config.ReadTimeout, srv.Config.WriteTimeout = serverTimeout, serverTimeout
			srv.Start()
			defer srv.Close()
			tt.run(t, srv.URL)
		})
	}
}

// TestIdleTimeout: an upstream that stops sending, mid-stream or on a
// WebSocket, is cut after IdleTimeout instead of holding the client.
func TestIdleTimeout(t *testing.T) {
	stall := make(chan struct{})
	defer close(stall)
	stream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "chunk 0\n")
		http.NewResponseController(w).Flush()
		select {
		case <-stall:
		case <-r.Context().Done():
		}
	}))
	defer stream.Close()
	srv := startProxy(t, stream.URL, func(c *proxy.Config) { c.IdleTimeout = 200 * time.Millisecond })
	res := send(t, "GET", srv.URL+"/api/orders", "tok-reader", nil)
	defer res.Body.Close()
	ended := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(res.Body)
		ended <- err
	}()
	if err := wait(t, ended, "end of the stalled stream"); err == nil {
		t.Error("the stalled stream ended as if complete")
	}
}
