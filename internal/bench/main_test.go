package bench

import (
	"testing"

	"github.com/bahasha/bahasha/internal/leakcheck"
	"github.com/bahasha/bahasha/internal/store/pgtest"
)

func TestMain(m *testing.M) { leakcheck.Main(m, pgtest.Stop) }
