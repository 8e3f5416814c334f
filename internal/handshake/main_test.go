package handshake_test

import (
	"testing"

	"github.com/bahasha/bahasha/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }
