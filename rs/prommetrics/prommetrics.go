package prommetrics

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokengate/tokengate/rs"
)

// Config configures an [Observer].
type Config struct {
	// Registerer receives the metric. It is required; pass
	// prometheus.DefaultRegisterer to use the default registry.
	Registerer prometheus.Registerer
	// Namespace prefixes the metric name. Defaults to "tokengate".
	Namespace string
	// ConstLabels are added to every series, for example to tell two
	// guards in one process apart. The zero value adds none.
	ConstLabels prometheus.Labels
}

// Observer implements rs.Observer with a Prometheus counter. It is safe
// for concurrent use; a decision costs a map lookup and one atomic add.
type Observer struct {
	decisions *prometheus.CounterVec
	// known holds the series of every decision in rs.Decisions, created at
	// zero by New so that rates exist before the first refusal; it is
	// read-only afterwards.
	known map[rs.Decision]prometheus.Counter
}

// New creates the metric, with a series at zero for every decision a guard
// makes, and registers it with cfg.Registerer.
func New(cfg Config) (*Observer, error) {
	if cfg.Registerer == nil {
		return nil, errors.New("prommetrics: Config.Registerer is required")
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "tokengate"
	}
	o := &Observer{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: cfg.Namespace, Subsystem: "rs", Name: "decisions_total", ConstLabels: cfg.ConstLabels,
			Help: "Requests decided by the resource server's guard, by answer status (200 let through) and reason.",
		}, []string{"status", "reason"}),
		known: make(map[rs.Decision]prometheus.Counter),
	}
	for _, d := range rs.Decisions() {
		o.known[d] = o.decisions.WithLabelValues(strconv.Itoa(d.Status), d.Reason)
	}
	if err := cfg.Registerer.Register(o.decisions); err != nil {
		return nil, fmt.Errorf("prommetrics: %w", err)
	}
	return o, nil
}

// ObserveDecision counts d.
func (o *Observer) ObserveDecision(d rs.Decision) {
	if c, ok := o.known[d]; ok {
		c.Inc()
		return
	}
	o.decisions.WithLabelValues(strconv.Itoa(d.Status), d.Reason).Inc()
}

var _ rs.Observer = (*Observer)(nil)
