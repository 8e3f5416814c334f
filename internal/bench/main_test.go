package bench

import (
	"testing"

	"github.com/bahasha/bahasha/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }
