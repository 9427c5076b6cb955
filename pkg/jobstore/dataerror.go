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
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || len(pe.Code) != 5 {
		return false
	}
	return pe.Code[:2] == "22" || pe.Code[:2] == "54"
}
