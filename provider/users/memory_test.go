package users_test

import (
	"testing"

	"github.com/tokengate/tokengate/provider/users"
	"github.com/tokengate/tokengate/provider/users/userstest"
)

func TestMemoryConformance(t *testing.T) {
	userstest.Run(t, func(*testing.T) users.Store { return users.NewMemory() })
}
