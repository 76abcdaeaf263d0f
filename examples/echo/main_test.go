package main

import (
	"testing"

	"github.com/tokengate/tokengate/examples/internal/orders"
)

func TestHandler(t *testing.T) { orders.CheckHandler(t, newHandler) }
