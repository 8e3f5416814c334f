package bench

import (
	"testing"

	"github.com/bahasha/bahasha/internal/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
