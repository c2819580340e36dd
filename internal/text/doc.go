// Package text holds Pivand's language-sensitive text helpers: normalisation
// for matching and search, digit-set conversion (ASCII, Persian, Arabic-Indic),
// the Jalali (Solar Hijri) calendar, date parsing and formatting, and phone
// number normalisation to E.164.
//
// Everything here is pure and safe for concurrent use. Nothing here decides
// how text is displayed: display layers choose digits and calendars
// themselves and call the conversion helpers.
//
// See docs/text.md for the reasoning behind the normalisation rules.
package text
