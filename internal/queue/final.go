package queue

import "errors"

// Final marks err as a failure that retrying cannot fix (a recipient the
// mail server refuses for good, a webhook's 4xx answer): the Consumer buries
// the task at once, kept with its error, instead of retrying it. Final(nil)
// is nil.
func Final(err error) error {
	if err == nil {
		return nil
	}
	return &finalError{err}
}

type finalError struct{ err error }

func (e *finalError) Error() string { return e.err.Error() }
func (e *finalError) Unwrap() error { return e.err }

// IsFinal reports whether err, or an error it wraps, was marked Final.
func IsFinal(err error) bool {
	var f *finalError
	return errors.As(err, &f)
}
