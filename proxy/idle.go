package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"time"
)

// The bounds of a forwarded request are idle timeouts, as nginx's
// proxy_read_timeout and send_timeout are: a streamed response or a
// WebSocket lasts as long as the upstream likes, but no read or write may
// wait longer than the timeout for a byte. The server's whole-request
// ReadTimeout and WriteTimeout would cut a long stream, and its
// ReadTimeout even cancels the request's context when it expires during a
// long response, so forward lifts them once the request is authorised.

// idleConn is a connection on which every Read and Write must make progress
// within timeout.
type idleConn struct {
	net.Conn
	timeout time.Duration
}

func (c *idleConn) Read(b []byte) (int, error) {
	if err := c.Conn.SetReadDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *idleConn) Write(b []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

// idleWriter is the response writer of a forwarded request: each write to
// the client must make progress within timeout, and a connection taken
// over for a protocol switch (a WebSocket) keeps that rule in both
// directions.
type idleWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

func (w *idleWriter) Write(b []byte) (int, error) {
	if err := w.rc.SetWriteDeadline(time.Now().Add(w.timeout)); err != nil {
		return 0, err
	}
	return w.ResponseWriter.Write(b)
}

// Hijack hands the connection over (httputil.ReverseProxy does for a
// protocol switch) wrapped in an idleConn.
func (w *idleWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := w.rc.Hijack()
	if err != nil {
		return nil, nil, err
	}
	return &idleConn{Conn: conn, timeout: w.timeout}, brw, nil
}

// Unwrap lets http.ResponseController reach the server's writer, to flush.
func (w *idleWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// idleBody is the request body of a forwarded request: each read from the
// client must make progress within timeout. At the end of the body the
// deadline is lifted, since the server then reads on in the background only
// to notice the client going away.
type idleBody struct {
	io.ReadCloser
	rc      *http.ResponseController
	timeout time.Duration
}

func (b *idleBody) Read(p []byte) (int, error) {
	if err := b.rc.SetReadDeadline(time.Now().Add(b.timeout)); err != nil {
		return 0, err
	}
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// idleBounds replaces the server's whole-request deadlines of an authorised
// request with idle timeouts, and returns the writer and request to forward.
// A server that cannot set deadlines (an HTTP/2 one without support, or a
// test recorder) keeps its own.
func idleBounds(w http.ResponseWriter, r *http.Request, timeout time.Duration) (http.ResponseWriter, *http.Request) {
	rc := http.NewResponseController(w)
	if rc.SetReadDeadline(time.Time{}) != nil || rc.SetWriteDeadline(time.Time{}) != nil {
		return w, r
	}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = &idleBody{ReadCloser: r.Body, rc: rc, timeout: timeout}
	}
	return &idleWriter{ResponseWriter: w, rc: rc, timeout: timeout}, r
}
