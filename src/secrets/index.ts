export {
  ALWAYS_SENSITIVE,
  addSensitiveNames,
  DEFAULT_MASK_CHAR,
  DEFAULT_SENSITIVE_PARAMS,
  isSensitiveName,
  LOG_SENSITIVE_PARAMS,
  type MaskOptions,
  maskSecretsInString,
  maskSensitiveData,
  mayHoldSecrets,
  SensitiveNameMatcher,
} from './mask.ts';
