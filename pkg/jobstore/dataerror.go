package jobstore

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
)

// IsDataError reports whether PostgreSQL refused the statement for the data it was given
// (SQLSTATE class 22, data exception: an invalid byte sequence, a value out of range; or
// class 54, program limit exceeded): trying the same data again cannot succeed, unlike a
// connection error or a time-out.
func IsDataError(err error) bool {
	c := SQLState(err)
	return len(c) == 5 && (c[:2] == "22" || c[:2] == "54")
}

// SQLState is the SQLSTATE code of the PostgreSQL error in err's chain, or "".
func SQLState(err error) string {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return ""
	}
	return pe.Code
}
