package web

// mergeFail shows a service's validation error on a form that already
// failed its own checks (a number or a date it could not read), so that
// one submit shows every problem: fail (the form's usual way of putting
// an error on it) runs on a fresh form, and its field errors are added
// to f where f has none yet. The form's own errors win: they say what
// was typed wrong, the service only saw a zero in its place. A nil err
// adds nothing.
func (f *form) mergeFail(err error, fail func(f *form, err error)) {
	if err == nil {
		return
	}
	var tmp form
	fail(&tmp, err)
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
	for k, v := range tmp.Errors {
		if _, ok := f.Errors[k]; !ok {
			f.Errors[k] = v
		}
	}
	switch {
	case f.Error == nil:
		f.Error = tmp.Error
	case tmp.Error != nil && tmp.Error.Detail != "" && f.Error.Detail == "":
		f.Error.Detail = tmp.Error.Detail // errors of fields the form does not show
	}
}
