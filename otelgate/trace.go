package otelgate

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/tokengate/tokengate/introspect"
)

// Introspector is an introspect.Introspector (and rs.Introspector) that
// traces each token check of the one it wraps; see [Telemetry.Introspector].
type Introspector struct {
	next introspect.Introspector
	t    *Telemetry
}

// Introspector returns next with a span, tokengate.introspect, around each
// call: give it to rs.Config.Introspector in place of next. next is
// usually what introspect.New returns, whose events, with the Telemetry as
// its Observer, then say on the span how the cache answered.
func (t *Telemetry) Introspector(next introspect.Introspector) *Introspector {
	return &Introspector{next: next, t: t}
}

// Introspect calls the wrapped introspector in a span that records the
// outcome: its error category, never its text, and never the token.
func (i *Introspector) Introspect(ctx context.Context, token string) (*introspect.Response, error) {
	ctx, span := i.t.tracer.Start(ctx, "tokengate.introspect", trace.WithSpanKind(trace.SpanKindInternal))
	defer span.End()
	resp, err := i.next.Introspect(ctx, token)
	if span.IsRecording() {
		outcome := outcomeOf(err)
		span.SetAttributes(keyOutcome.String(outcome))
		if err != nil && outcome != "inactive" {
			span.SetAttributes(semconv.ErrorTypeKey.String(outcome))
			span.SetStatus(codes.Error, outcome)
		}
	}
	return resp, err
}

// outcomeOf names the category of an error of an introspector.
func outcomeOf(err error) string {
	switch {
	case err == nil:
		return "active"
	case errors.Is(err, introspect.ErrInactive):
		return "inactive"
	case errors.Is(err, introspect.ErrUnavailable), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "unavailable"
	case errors.Is(err, introspect.ErrASRejectedClient):
		return "rejected"
	case errors.Is(err, introspect.ErrMalformedResponse):
		return "malformed"
	default:
		return "other"
	}
}

// Transport returns base (http.DefaultTransport if nil) with an HTTP
// client span around each request, the trace context written into its
// headers by the Config's propagator, and the http.client.request.duration
// metric. Put it in the HTTPClient of introspect.Config, jwtaccess.Config
// or jwtintrospect.Config. The span and the metric carry the semantic
// conventions' attributes: the method, the server's address and port,
// url.full without its query or user info, the status code, and error.type
// for a status of 400 or more or a failed request; never a header or a
// body. The span ends when the answer's header arrives.
func (t *Telemetry) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{base: base, t: t}
}

type transport struct {
	base http.RoundTripper
	t    *Telemetry
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	attrs := requestAttrs(req)
	ctx, span := tr.t.tracer.Start(req.Context(), req.Method, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	defer span.End()
	out := req.Clone(ctx) // a RoundTripper must not change the request it is given
	tr.t.propagator.Inject(ctx, propagation.HeaderCarrier(out.Header))
	resp, err := tr.base.RoundTrip(out)
	var errType string
	switch {
	case err != nil:
		errType = transportError(err)
	case resp.StatusCode >= 400:
		errType = statusText(resp.StatusCode)
	}
	if resp != nil {
		attrs = append(attrs, semconv.HTTPResponseStatusCode(resp.StatusCode))
		span.SetAttributes(semconv.HTTPResponseStatusCode(resp.StatusCode))
	}
	if errType != "" {
		attrs = append(attrs, semconv.ErrorTypeKey.String(errType))
		span.SetAttributes(semconv.ErrorTypeKey.String(errType))
		span.SetStatus(codes.Error, errType)
	}
	tr.t.httpDuration.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(attrs...))
	return resp, err
}

// requestAttrs are the semantic conventions' attributes of an HTTP client
// request. url.full has no query (where a secret could hide) and no user
// info.
func requestAttrs(req *http.Request) []attribute.KeyValue {
	u := *req.URL
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	n, _ := strconv.Atoi(port)
	return []attribute.KeyValue{
		semconv.HTTPRequestMethodKey.String(req.Method), semconv.ServerAddress(host), semconv.ServerPort(n), semconv.URLFull(u.String()),
	}
}

// transportError is the error.type of a request that got no answer: a
// low-cardinality class, not the error's text (which may name the URL).
func transportError(err error) string {
	var netErr net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	default:
		return "connection"
	}
}
