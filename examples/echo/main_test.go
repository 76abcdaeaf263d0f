package main

import (
	"testing"

	"github.com/tokengate/tokengate/examples/internal/orderstest"
)

func TestHandler(t *testing.T) { orderstest.CheckHandler(t, newHandler) }
