package store_test

import (
	"testing"

	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/provider/store/storetest"
)

func TestMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return store.NewMemory() })
}
