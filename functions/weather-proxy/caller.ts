// Who a weather lookup is for, as the weather service's per-caller quotas count it (docs/weather-service.md).

// The weather service's own names for these (functions/weather/caller-quota.ts); it trusts them only with the credential.
const CALLER_USER_HEADER = 'x-weather-caller-user';
const CALLER_ADDRESS_HEADER = 'x-weather-caller-address';

/** The headers that name the caller to the weather service: the user's id and the client's address (layers/http/client-address.ts). */
export function callerHeaders(userId: string, clientAddress: string): Record<string, string> {
  return { [CALLER_USER_HEADER]: userId, [CALLER_ADDRESS_HEADER]: clientAddress };
}
