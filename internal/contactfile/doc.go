// Package contactfile reads and writes contact files: CSV (with automatic
// header mapping for Google Contacts, Outlook and HubSpot exports and for
// plain English, Persian and Arabic headers) and vCard 2.1/3.0/4.0.
//
// Everything here is pure: no database, no HTTP, no clock. Readers stream
// (one record in memory at a time) and turn each record into a
// crm.Contact-shaped value plus the problems found in it, so an importer can
// show a dry-run report, skip bad rows and write good ones in batches.
// Writers stream too.
//
// The CSV reader is resumable: after each record it knows the byte offset
// and physical line where the next record starts (Checkpoint). An importer
// that saves the checkpoint in the same transaction as the rows it wrote can
// restart after a crash with NewCSVReaderAt and read exactly the remaining
// rows.
//
// File-level problems (wrong encoding, an unclosed quote, a record over the
// size limit) are returned as *FormatError. Problems with one value (a bad
// email, an unparsable birthday) never stop reading: they are listed in the
// row's Errors, naming the CSV column header or vCard property.
//
// See docs/import-export.md for the user-facing rules.
package contactfile
