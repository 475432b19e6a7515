package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/sim"
	"github.com/fleetsim/fleetsim/sim/sqlstore"
	"github.com/fleetsim/fleetsim/sim/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() sim.Store {
		path := filepath.Join(t.TempDir(), "state.db")
		return func() sim.Store {
			st, err := sqlstore.Open(context.Background(), path)
			require.NoError(t, err)
			return st
		}
	})
}
