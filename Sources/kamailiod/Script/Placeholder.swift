public enum ScriptPlaceholder {}
