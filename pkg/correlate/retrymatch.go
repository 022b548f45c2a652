package correlate

// matchDefaultRetry reports whether msg matches DefaultRetryPattern,
// `(?i)retrying|will retry|attempt \d+ failed`. Go's regexp engine costs
// about a microsecond per message for this alternation, as much as the
// whole per-entry budget of Analyze, so the default pattern is matched by
// hand. FuzzRetryMatcher checks that both agree. (None of the pattern's
// letters has a non-ASCII case fold, such as K/U+212A, so ASCII folding is
// exact.)
func matchDefaultRetry(msg string) bool {
	for i := 0; i < len(msg); i++ {
		switch msg[i] | 0x20 {
		case 'r':
			if hasFoldPrefix(msg[i:], "retrying") {
				return true
			}
		case 'w':
			if hasFoldPrefix(msg[i:], "will retry") {
				return true
			}
		case 'a':
			if attemptFailed(msg[i:]) {
				return true
			}
		}
	}
	return false
}

// attemptFailed matches `attempt \d+ failed` at the start of s, ignoring case.
func attemptFailed(s string) bool {
	const head, tail = "attempt ", " failed"
	if !hasFoldPrefix(s, head) {
		return false
	}
	s = s[len(head):]
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n > 0 && hasFoldPrefix(s[n:], tail)
}

// hasFoldPrefix reports whether s starts with lower (lower-case ASCII),
// ignoring ASCII case.
func hasFoldPrefix(s, lower string) bool {
	if len(s) < len(lower) {
		return false
	}
	for i := 0; i < len(lower); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// retryMatcher returns the function that recognises retry messages.
func (s *state) retryMatcher() func(string) bool {
	re := s.opts.RetryPattern
	if re == defaultRetryRE || re.String() == DefaultRetryPattern {
		return matchDefaultRetry
	}
	return re.MatchString
}

// giveUpPhrases are the alternatives of DefaultGiveUpPattern, lower-case.
var giveUpPhrases = [...]string{"not retrying", "giving up", "no more retries", "won't retry", "will not retry", "retries exhausted"}

// matchDefaultGiveUp reports whether msg matches DefaultGiveUpPattern. An
// ASCII message is matched by hand, for the reason matchDefaultRetry is;
// any other goes to the regexp, since (?i) folds "s" with U+017F (ſ),
// which ASCII folding does not know. FuzzGiveUpMatcher checks both agree.
func matchDefaultGiveUp(msg string) bool {
	for i := 0; i < len(msg); i++ {
		if msg[i] >= 0x80 {
			return defaultGiveUpRE.MatchString(msg)
		}
	}
	for i := 0; i < len(msg); i++ {
		switch msg[i] | 0x20 {
		case 'n', 'g', 'w', 'r':
			for _, p := range giveUpPhrases {
				if p[0] == msg[i]|0x20 && hasFoldPrefix(msg[i:], p) {
					return true
				}
			}
		}
	}
	return false
}

// giveUpMatcher returns the function that recognises give-up messages.
func (s *state) giveUpMatcher() func(string) bool {
	re := s.opts.GiveUpPattern
	if re == defaultGiveUpRE || re.String() == DefaultGiveUpPattern {
		return matchDefaultGiveUp
	}
	return re.MatchString
}
