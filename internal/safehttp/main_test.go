package safehttp_test

import (
	"testing"

	"github.com/bahasha/bahasha/internal/leakcheck"
)

// TestMain fails the run if any test leaves client, server or fake-DNS
// goroutines behind.
func TestMain(m *testing.M) { leakcheck.Main(m) }
