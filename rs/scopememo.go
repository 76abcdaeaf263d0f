package rs

import (
	"maps"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tokengate/tokengate/scopes"
)

// maxMemoScopes bounds how many distinct scope strings a guard remembers
// parsed. Most authorization servers issue a handful of combinations; one
// that issues more (scopes naming resources, say) fills the memo and the
// rest are parsed on every request, as they would be without it.
const maxMemoScopes = 256

// scopeMemo remembers parsed scope strings, so that the hot path (a cache
// hit of the introspector, whose responses repeat a few scope strings) does
// not split and sort the same string on every request. A scopes.Set is
// immutable, so one can be shared by every principal.
type scopeMemo struct {
	// sets is a copy-on-write map, read without locking.
	sets atomic.Pointer[map[string]scopes.Set]
	// mu serializes writers of sets.
	mu sync.Mutex
}

// parse returns scopes.Parse(s), remembered.
func (m *scopeMemo) parse(s string) (scopes.Set, error) {
	if sets := m.sets.Load(); sets != nil {
		if set, ok := (*sets)[s]; ok {
			return set, nil
		}
	}
	set, err := scopes.Parse(s)
	if err != nil {
		return set, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var old map[string]scopes.Set
	if p := m.sets.Load(); p != nil {
		old = *p
	}
	if _, ok := old[s]; !ok && len(old) < maxMemoScopes {
		sets := make(map[string]scopes.Set, len(old)+1)
		maps.Copy(sets, old)
		sets[strings.Clone(s)] = set // the memo must not pin the response
		m.sets.Store(&sets)
	}
	return set, nil
}
