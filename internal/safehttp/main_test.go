package safehttp_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves client, server or fake-DNS
// goroutines behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
