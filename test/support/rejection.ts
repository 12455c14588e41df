/** The rejection of `promise`, which must reject (a test fails with "expected a rejection" otherwise). */
export async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}
