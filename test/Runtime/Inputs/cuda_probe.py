"""Prints what stepc.cuda_device_count() says: a count, or the error."""
import stepc

try:
    print("devices:", stepc.cuda_device_count())
except stepc.StepcError as err:
    print(f"{err.code}: {err}")
