package main

import (
	"testing"

	"github.com/ssogate/ssogate/internal/testpeers"
)

// TestMain releases the real directories (internal/testpeers) the tests
// started or joined.
func TestMain(m *testing.M) { testpeers.Main(m) }
