/* Checking OpenCL and CLBlast calls: a failure names the call, where it was made, and the error. */
#ifndef CLGAN_CLERR_H
#define CLGAN_CLERR_H
#include <CL/cl.h>

const char *cl_err_name(cl_int err);  /* "CL_INVALID_VALUE", CLBlast codes too, or "UNKNOWN" */

/* Dies with "FILE:LINE: CALL failed: NAME (CODE)" when err != CL_SUCCESS. */
void cl_check_at(cl_int err, const char *call, const char *file, int line);
#define CL_CHECK(call) cl_check_at((call), #call, __FILE__, __LINE__)

#endif
