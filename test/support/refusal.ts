/** `Name: message` of what `fn` throws, so a test can assert both exactly. */
export function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  }
  return 'no error';
}
