// Package password is the logic of authentik's "Password" policy
// (authentik/policies/password/models.py, PasswordPolicy): static rules,
// a check against breached passwords and a strength estimate. It reads and
// writes no store; a policy registry wraps Check.
//
// Check runs up to three checks, in authentik's order, and stops at the
// first that fails:
//
//	static rules (CheckStatic)     length_min, amount_digits, amount_uppercase,
//	                               amount_lowercase, amount_symbols (runes of
//	                               symbol_charset); error_message replaces the
//	                               per-rule messages when set
//	  -> breached (CheckHIBP)      fails when the password appears more than
//	                               hibp_allowed_count times ("Password exists
//	                               on N online lists.")
//	  -> strength (CheckZxcvbn)    fails when the score is at or below
//	                               zxcvbn_score_threshold ("Password is too
//	                               weak." plus feedback)
//
// # Breached passwords
//
// NIST SP 800-63B §5.1.1.2 (Memorized Secret Verifiers) asks verifiers to
// compare a new password against "passwords obtained from previous breach
// corpuses" and to reject it with a reason when it is listed. HIBPClient does
// that with the k-anonymity range API of Pwned Passwords
// (https://haveibeenpwned.com/API/v3#PwnedPasswords): the password is hashed
// with SHA-1, only the first five hex characters of the hash are sent
// (GET https://api.pwnedpasswords.com/range/{first 5 hex chars}), and the
// remaining 35 are looked up locally, in constant time, among the
// "SUFFIX:COUNT" lines of the answer. The request carries "Add-Padding: true",
// so the response size does not reveal the prefix; the padding lines have a
// count of 0 and are ignored. Neither the password nor the full hash leaves
// the process or appears in an error.
//
// When the range API cannot be reached, Check returns the error and no
// verdict: the caller decides whether to fail open or closed. authentik
// fails closed: an exception in a policy becomes a failing PolicyResult whose
// message is the exception text (authentik/policies/process.py,
// PolicyProcess.run).
//
// # Strength
//
// EstimateStrength is Gatehouse's own estimator in the spirit of zxcvbn
// (not a port): it finds the cheapest way to build the password from
// patterns (common passwords, the user's own inputs, l33t spellings, reversed
// words, repeats, sequences, keyboard walks, years and dates) and random
// characters, and scores the base-10 logarithm of that number of guesses:
//
//	log10(guesses) <  3  -> 0   too guessable
//	log10(guesses) <  6  -> 1   very guessable
//	log10(guesses) <  8  -> 2   somewhat guessable
//	log10(guesses) < 10  -> 3   safely unguessable
//	otherwise            -> 4   very unguessable
//
// Only the first 256 runes are analysed, so the cost is bounded for any input.
package password
