// The test support library; fixtures arrive with the tests.
