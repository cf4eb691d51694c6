package admin_test

import (
	"testing"

	"github.com/switchboard-io/switchboard/socketiotest"
)

func TestMain(m *testing.M) { socketiotest.VerifyTestMain(m) }
