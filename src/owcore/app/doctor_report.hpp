#pragma once
// The report of `owcore doctor`: the judged diagnosis (app/doctor_judge.hpp) as one JSON object
// or as the text an operator reads. Rendering only: every verdict is the judge's.

#include "owcore/app/doctor_judge.hpp"

#include <boost/json/object.hpp>

#include <ostream>

namespace owcore::app {

/// The `--json` form: every key of a client object is always present (null or empty when it does
/// not apply), so consumers need no per-topology schema.
boost::json::object diagnosis_json(const diagnosis& d);

/// The text form, ending with "result: <status> (exit <code>)".
void print_text(std::ostream& os, const diagnosis& d);

}  // namespace owcore::app
