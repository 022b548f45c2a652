//go:build !linux

package hugepages

func advise(int64, string) (Result, error) { return Result{Mode: "unsupported"}, nil }

func eligible(string) (string, bool) { return "unsupported", false }
