package redis

// NumSubUnknown is numSubUnknown, for the tests of package redis_test.
var NumSubUnknown = (*Adapter).numSubUnknown
