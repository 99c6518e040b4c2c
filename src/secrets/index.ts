export {
  ALWAYS_SENSITIVE,
  DEFAULT_MASK_CHAR,
  DEFAULT_SENSITIVE_PARAMS,
  isSensitiveName,
  LOG_SENSITIVE_PARAMS,
  type MaskOptions,
  maskSecretsInString,
  maskSensitiveData,
  SensitiveNameMatcher,
} from './mask.ts';
